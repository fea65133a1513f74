"""The certificate authority: the only services that hold key handles and sign.

``signers`` resolves an active CA to its signer, ``cycle`` runs the crash-safe
issuance sequence (prepare -> reserve serial -> sign once -> store), and
``issuance`` / ``hierarchy`` are the use cases built on them.
"""
