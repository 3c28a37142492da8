"""The sample-archive generator and its ground truth.

    from corpus.generate import generate      # generate(out_dir, seed=20261121, n_orgs=32, broken=True)
    python -m corpus.generate --out DIR [--seed N] [--orgs N] [--no-broken]

Modules: `world` (the simulated organisations, auditors, audits, certificates), `templates` (one
function per document type), `wording` (the ways forms write the same fact), `render` (PDF layout),
`truth` (what a document states), `ids` (credit codes, certificate and registration numbers),
`texts`, `industries`, `names`, `refdata` (the data they draw from).
"""
from .ids import is_valid_credit_code, normalise_cert_no

__all__ = ["is_valid_credit_code", "normalise_cert_no"]
