"""What the hotline keeps, as plain data: the call record and the work order.

A layer of its own, below the store and the features, so both may import it: the store writes
and reads these records, the features (calls, work orders, metrics, callbacks) build and use
them, and neither needs the other for it. Pure modules: no I/O, no imports above hotline.privacy.

* :mod:`hotline.records.call`: :class:`CallRecord` (one per conversation) and its ``Outcome``;
* :mod:`hotline.records.work_order`: the work-order ``Category`` and ``Status``;
* :mod:`hotline.records.voice_message`: the work order filed for a voice message.
"""
