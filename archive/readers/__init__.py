"""Readers: one per format a certification body files, chosen by the file's content (`dispatch`).

Every reader turns a file's bytes into `Page`s of normalised text (and ruled tables where a page
has them) or raises `ReadError` with a reason a person can act on. PDF is `archive.pdf`; the
others live here: Word (docx, Word 2003 XML), formats LibreOffice converts (binary .doc, .rtf,
.odt, .wps), spreadsheets, images and phone photos, OFD, and archives whose members are documents.

This package's `__init__` imports nothing, so `archive.pdf` can use `base` without a cycle.
"""
