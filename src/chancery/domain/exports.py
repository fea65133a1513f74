"""Formats certificates and chains are exported in."""

from __future__ import annotations

from enum import StrEnum

from chancery.errors import Malformed


class ExportFormat(StrEnum):
    PEM = "pem"
    DER = "der"
    P7B = "p7b"
    P12 = "p12"

    @classmethod
    def parse(cls, text: str, allowed: tuple[ExportFormat, ...] | None = None) -> ExportFormat:
        choices = allowed or tuple(cls)
        try:
            value = cls(text.strip().lower())
        except ValueError:
            value = None
        if value is None or value not in choices:
            raise Malformed(f"unknown format {text[:20]!r}; use one of: {', '.join(c.value for c in choices)}")
        return value

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.PEM: "application/pem-certificate-chain",
            ExportFormat.DER: "application/pkix-cert",
            ExportFormat.P7B: "application/pkcs7-mime",
            ExportFormat.P12: "application/pkcs12",
        }[self]

    @property
    def extension(self) -> str:
        return {ExportFormat.PEM: "pem", ExportFormat.DER: "der", ExportFormat.P7B: "p7b", ExportFormat.P12: "p12"}[
            self
        ]
