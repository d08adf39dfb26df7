"""Alembic migrations of the work-order store, run by :meth:`hotline.store.Store.upgrade`.

A package (as is ``versions``) so installing ``hotline`` ships the revision files.
"""
