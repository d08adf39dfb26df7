"""Work orders (工单): what a seat files about one or more calls.

``model`` holds the domain enums the store persists; ``schemas``, ``services``
and ``http`` are the HTTP feature built on :class:`hotline.store.Store`.
"""
