"""The OCPP protocol edge: station authentication, the consumer, framing, and the 1.6 and 2.0.1 adapters."""
