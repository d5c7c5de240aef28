"""The Redis broker transport, with a fix that keeps the worker alive when Redis dies.

With messages in flight (acks_late, ETA tasks) a lost Redis connection crashed the worker:
`CRITICAL celery.worker Unrecoverable error: AttributeError("'NoneType' object has no
attribute 'hostname'")` right after "Restoring N unacknowledged message(s)". The chain
(celery 5.7 / kombu 5.7): `Consumer.on_connection_error_after_connected` first calls
`Connection.collect()`, which closes the default channel — that close tries to restore the
unacknowledged messages, fails on the dead socket, and leaves the channel in place — and
then detaches the transport (`transport.client = None`). Its next step,
`connection.close()`, closes the same channel again; the restore asks `_connparams()` for
the server's address through `self.connection.client`, now None, and the AttributeError
is not one of the connection errors `ignore_errors` swallows, so it kills the worker.

Here a channel whose connection is already detached raises the transport's own
ConnectionError instead: the close is then ignored like any other close on a dead
connection, the consumer reconnects (broker_connection_retry), and the messages stay in
Redis's unacked set for kombu's visibility-timeout restore — while the outbox sweep
re-dispatches any notification whose message was lost with the server's memory.
Selected by CELERY_BROKER_TRANSPORT in config/settings/base.py.
"""

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
