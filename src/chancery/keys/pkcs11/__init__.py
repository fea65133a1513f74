"""The PKCS#11 key store: CA and EMV keys generated in (or adopted from) a hardware security
module, used through python-pkcs11, never extractable.

- :mod:`.module` loads a module for concurrent use; :mod:`.connection` logs in once per token
  and process and pools sessions; :mod:`.errors` translates PKCS#11 return codes.
- :mod:`.mechanisms` says how each key type is generated and signs; :mod:`.adapters` lets
  pyca/cryptography builders sign through the token; :mod:`.handles` are the key handles.
- :mod:`.store` is the key store over one token; :mod:`.backend` connects it on first use from
  the stored configuration; :mod:`.pins` reads the PIN; :mod:`.registry` is the port where the
  keys in use are recorded.
"""
