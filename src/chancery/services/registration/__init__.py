"""The registration authority: RAs and their policies, requests, approvals, fulfilment, delivery."""
