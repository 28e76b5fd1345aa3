"""The Kafka edge: the only package that imports aiokafka."""
