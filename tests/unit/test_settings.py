"""Settings fail fast and name what is wrong."""

from __future__ import annotations

import pytest

from fintrack.settings import SettingsError, load_settings

GOOD_KEY = "k" * 20 + "0123456789abcdefghij"


def test_production_without_secret_key_is_refused():
    with pytest.raises(SettingsError, match=r"SECRET_KEY .* is required"):
        load_settings({"FINTRACK_ENV": "production"})


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "CHANGE-ME", "short-but-real"])
def test_placeholder_or_short_secret_keys_are_refused(placeholder):
    with pytest.raises(SettingsError, match="SECRET_KEY is a placeholder or shorter"):
        load_settings({"FINTRACK_ENV": "production", "SECRET_KEY": placeholder})


def test_secret_key_file_is_read(tmp_path):
    path = tmp_path / "key"
    path.write_text(GOOD_KEY + "\n")
    settings = load_settings({"FINTRACK_ENV": "production", "SECRET_KEY_FILE": str(path)})
    assert settings.secret_key() == GOOD_KEY


def test_missing_secret_file_names_the_setting(tmp_path):
    with pytest.raises(SettingsError, match=r"SECRET_KEY_FILE=.* cannot be read"):
        load_settings({"SECRET_KEY_FILE": str(tmp_path / "nope")})


def test_both_value_and_file_is_ambiguous(tmp_path):
    (tmp_path / "k").write_text(GOOD_KEY)
    with pytest.raises(SettingsError, match="not both"):
        load_settings({"SECRET_KEY": GOOD_KEY, "SECRET_KEY_FILE": str(tmp_path / "k")})


def test_only_postgresql_urls_are_accepted():
    with pytest.raises(SettingsError, match="DATABASE_URL must be a postgresql"):
        load_settings({"DATABASE_URL": "sqlite:///x.db"})


def test_bad_port_names_the_setting():
    with pytest.raises(SettingsError, match="PORT"):
        load_settings({"PORT": "99999"})


def test_development_keeps_a_generated_key_in_the_data_dir(tmp_path):
    settings = load_settings({"FINTRACK_DATA_DIR": str(tmp_path)})
    first = settings.secret_key()
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_settings({"FINTRACK_DATA_DIR": str(tmp_path)}).secret_key() == first
