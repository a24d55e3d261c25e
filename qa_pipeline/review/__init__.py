"""Human review of scored calls: the reviewed score and labels exported from review decisions.

Pure functions over a stored report dict and the reviewers' decisions (``store.reviews``);
May import ``rules`` (scoring) and ``store`` value types, nothing from ``server`` or ``cli``.
"""
