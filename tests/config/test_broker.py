"""The broker transport (config/broker.py): a lost Redis connection must not kill the
worker. Celery's consumer detaches the transport from the connection (Connection.collect)
before it closes the channel; the close then restores the unacknowledged messages through
a new connection pool whose parameters come from the detached client."""

import pytest
from django.conf import settings
from kombu import Connection
from kombu.common import ignore_errors

from config.broker import Transport


def _channel_with_unacked_message(connection: Connection):
    channel = connection.default_channel
    raw = channel.prepare_message("{}", content_type="application/json")
    raw["properties"]["delivery_tag"] = "delivery-tag-1"
    raw["properties"]["delivery_info"] = {"exchange": "", "routing_key": "test-broker"}
    channel.qos.append(channel.message_to_python(raw), "delivery-tag-1")
    return channel


def test_closing_a_detached_channel_is_a_connection_error_not_a_crash():
    connection = Connection(settings.CELERY_BROKER_URL, transport=Transport)
    channel = _channel_with_unacked_message(connection)
    connection._transport.client = None  # what Connection.collect() leaves behind
    # The consumer closes the broken connection with ignore_errors: only connection and
    # channel errors are ignored, anything else is "Unrecoverable" and stops the worker.
    ignore_errors(connection, channel.close)
    assert channel.closed


def test_stock_kombu_crashes_there():
    """The defect the transport works around (remove config/broker.py once this fails)."""
    from kombu.transport.redis import Transport as StockTransport

    connection = Connection(settings.CELERY_BROKER_URL, transport=StockTransport)
    channel = _channel_with_unacked_message(connection)
    connection._transport.client = None
    with pytest.raises(AttributeError, match="hostname"):
        ignore_errors(connection, channel.close)


def test_the_celery_app_uses_the_transport():
    from config.celery import app

    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
