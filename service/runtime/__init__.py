"""What runs the network: model loading, the engine, the dynamic batcher, the worker process, the lifecycle.

* :mod:`service.runtime.model_loader`: the predictor, texture and video models from the settings.
* :mod:`service.runtime.engine`: the batch function (crops in, one prediction or
  :class:`~service.runtime.engine.ItemFailure` per crop out).
* :mod:`service.runtime.batcher`: the bounded queue and the worker loop that forms batches.
* :mod:`service.runtime.worker_process`: the engine in a spawned process of its own.
* :mod:`service.runtime.state`: load, warm up, serve, drain, stop (:class:`~service.runtime.state.ServiceState`).
* :mod:`service.runtime.metrics`: the service's Prometheus registry.

Nothing here knows HTTP: failures are the runtime's own exceptions, which :mod:`service.http`
turns into statuses and JSON errors. This package imports :mod:`model` and :mod:`service.settings`
only, never :mod:`service.http`.
"""
