"""PDF documents (fpdf2): the filled request form, reports, audits. Pure: no Flask."""
