"""``bulkdelete certificate``: the job's evidence of erasure as canonical JSON and one
printable page, without a profile ID in either (docs/certificate.md)."""

from bulkdelete.certificate.page import HTML_NAME, JSON_NAME, Certificate, write_certificate

__all__ = ["HTML_NAME", "JSON_NAME", "Certificate", "write_certificate"]
