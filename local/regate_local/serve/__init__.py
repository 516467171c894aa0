"""``regate serve`` and the loopback HTTP server the demo, the tests and the benches share.

:mod:`.server` turns HTTP requests into API Gateway (payload 2.0) events for a resolver; :mod:`.admin`
plays the API Gateway JWT authorizer in-process for ``/admin/v1``; :mod:`.cli` is the command's body.
In AWS, API Gateway does all of this: none of it is in the Lambda layer.
"""
