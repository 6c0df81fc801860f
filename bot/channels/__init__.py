"""One module per transport; each turns wire format into a Message and sends outgoing text."""
