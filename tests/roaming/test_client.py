"""The OCPI client reaches brands' `.localhost` test hosts on the loopback, keeping their name in the Host header."""

from apps.roaming.client import _loopback, authorization


def test_localhost_names_go_to_the_loopback_with_their_host_header():
    assert _loopback("http://bravo.localhost:8123/ocpi/versions") == (
        "http://127.0.0.1:8123/ocpi/versions",
        {"Host": "bravo.localhost:8123"},
    )


def test_other_hosts_and_https_are_left_alone():
    assert _loopback("https://bravo.localhost/ocpi/versions") == ("https://bravo.localhost/ocpi/versions", {})
    assert _loopback("http://ocpi.example.com/versions") == ("http://ocpi.example.com/versions", {})


def test_tokens_are_sent_base64_or_plain():
    assert authorization("abc", base64_encoded=True) == "Token YWJj"
    assert authorization("abc", base64_encoded=False) == "Token abc"
