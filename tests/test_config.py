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


@pytest.mark.parametrize("env, named", [
    ({"STREAM_SECURITY_PROTOCOL": "TLS"}, "STREAM_SECURITY_PROTOCOL"),
    ({"STREAM_SECURITY_PROTOCOL": "SASL_SSL", "STREAM_SASL_PASSWORD": "pw"}, "STREAM_SASL_USERNAME"),
    ({"STREAM_SECURITY_PROTOCOL": "SASL_SSL", "STREAM_SASL_USERNAME": "u"}, "STREAM_SASL_PASSWORD_FILE"),
    ({"STREAM_SECURITY_PROTOCOL": "SASL_SSL", "STREAM_SASL_USERNAME": "u", "STREAM_SASL_PASSWORD": "pw",
      "STREAM_SASL_PASSWORD_FILE": "/p"}, "STREAM_SASL_PASSWORD_FILE"),
    ({"STREAM_SECURITY_PROTOCOL": "SASL_SSL", "STREAM_SASL_USERNAME": "u", "STREAM_SASL_PASSWORD": "pw",
      "STREAM_SASL_MECHANISM": "GSSAPI"}, "STREAM_SASL_MECHANISM"),
    ({"STREAM_SSL_CAFILE": "/ca.pem"}, "STREAM_SSL_CAFILE"),
    ({"STREAM_SASL_USERNAME": "u"}, "STREAM_SASL_USERNAME"),
    ({"STREAM_SECURITY_PROTOCOL": "SSL", "STREAM_SSL_CERTFILE": "/c.pem"}, "STREAM_SSL_KEYFILE"),
])
def test_security_settings_that_do_not_fit_together_fail_before_any_connection(env, named):
    with pytest.raises(ConfigError, match=named) as refused:
        config.load(parse([]), environ=env)
    assert "pw" not in str(refused.value)


def test_passwords_stay_out_of_the_repr_and_the_help():
    env = {"STREAM_SECURITY_PROTOCOL": "SASL_SSL", "STREAM_SASL_USERNAME": "u", "STREAM_SASL_PASSWORD": "hunter2",
           "STREAM_INDEX": "rediss://u:hunter3@redis:6380/0?namespace=n"}
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    s = config.load(parser.parse_args([]), environ=env)
    assert s.sasl_password == "hunter2"
    shown = repr(s) + parser.format_help()
    assert "hunter" not in shown
    assert "sasl_password='***'" in shown and "rediss://u:***@redis:6380/0?namespace=n" in shown


@pytest.mark.parametrize("url, shown", [
    ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
    ("rediss://user:p%40ss@h/1?namespace=a", "rediss://user:***@h/1?namespace=a"),
    ("redis://user:p@ss/w@h/0", "redis://user:***@h/0"),  # unescaped: up to the last @
    ("unix:///run/redis.sock?password=pw&db=2", "unix:///run/redis.sock?password=***&db=2"),
    ("redis://user@h/0", "redis://user@h/0"),
    ("memory", "memory"),
])
def test_redact_url(url, shown):
    assert config.redact_url(url) == shown


def test_a_password_file_loses_its_final_newline_only(tmp_path):
    (tmp_path / "pw").write_text(" secret \n")
    assert config.read_secret(str(tmp_path / "pw"), "STREAM_SASL_PASSWORD_FILE") == " secret "
    with pytest.raises(ConfigError, match="STREAM_SASL_PASSWORD_FILE: cannot read"):
        config.read_secret(str(tmp_path / "missing"), "STREAM_SASL_PASSWORD_FILE")
