"""The portal's pages, one module per area: public requests, request status, staff login,
the approval queue, the CA and certificate browser, the audit view."""
