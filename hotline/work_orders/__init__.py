"""Work orders (工单): what a seat files about one or more calls.

The domain enums the store persists live in :mod:`hotline.records.work_order`; ``schemas``, ``services``
and ``http`` are the HTTP feature built on :class:`hotline.store.Store`.
"""
