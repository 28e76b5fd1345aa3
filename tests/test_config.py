import argparse

import pytest

from stream import config
from stream.errors import ConfigError


def parse(argv):
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults():
    s = config.load(parse([]), environ={})
    assert (s.bootstrap_servers, s.input_topic, s.output_topic, s.duplicates_topic, s.dlq_topic, s.group_id) == (
        "127.0.0.1:9092", "raw-pages", "articles", "duplicates", "raw-pages-dlq", "stream")


def test_flag_beats_environment_beats_default():
    env = {"STREAM_INPUT_TOPIC": "env-in", "STREAM_THRESHOLD": "0.7", "STREAM_CREATE_TOPICS": "false"}
    s = config.load(parse(["--threshold", "0.9"]), environ=env)
    assert (s.input_topic, s.threshold, s.create_topics) == ("env-in", 0.9, False)


@pytest.mark.parametrize("env", [{"STREAM_THRESHOLD": "2"}, {"STREAM_GUARANTEE": "maybe"},
                                 {"STREAM_BATCH_SIZE": "many"}, {"STREAM_CREATE_TOPICS": "perhaps"}])
def test_bad_values_are_config_errors(env):
    with pytest.raises(ConfigError):
        config.load(parse([]), environ=env)


def test_every_setting_has_a_flag_and_help():
    flags = {a.dest for a in argparse.ArgumentParser()._actions}
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    dests = {a.dest for a in parser._actions} - flags
    assert dests == {f.name for f in config.FIELDS}
