"""Key ceremonies: scripted root and intermediate ceremonies run by an M-of-N custodian quorum,
signed transcripts, and M-of-N activation of the software key store."""
