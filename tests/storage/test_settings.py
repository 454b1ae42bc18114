"""GOVFLOW_S3_* turn into STORAGES; without them the files stay local."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from govflow.settings.storage import S3_BACKEND, storages_from_environment

BASE = {
    "GOVFLOW_S3_BUCKET": "govflow",
    "GOVFLOW_S3_ENDPOINT_URL": "http://seaweedfs:8333",
    "GOVFLOW_S3_ACCESS_KEY": "key",
    "GOVFLOW_S3_SECRET_KEY": "secret",
}


def test_a_bucket_sends_every_file_to_s3_privately():
    storages = storages_from_environment({**BASE, "GOVFLOW_S3_PREFIX": "/city-a/"})

    default, certificates = storages["default"], storages["certificates"]
    assert default["BACKEND"] == certificates["BACKEND"] == S3_BACKEND
    assert default["OPTIONS"]["location"] == "city-a"
    assert certificates["OPTIONS"]["location"] == "city-a/certificates"
    assert default["OPTIONS"]["default_acl"] is None
    assert default["OPTIONS"]["file_overwrite"] is False
    assert default["OPTIONS"]["region_name"] == "us-east-1"
    assert default["OPTIONS"]["addressing_style"] == "path"


def test_no_bucket_means_local_folders():
    storages = storages_from_environment({})

    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert storages["certificates"] == {"BACKEND": "govflow.storage.LocalCertificateStorage"}


def test_the_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    env = {**BASE, "GOVFLOW_S3_SECRET_KEY": "", "GOVFLOW_S3_SECRET_KEY_FILE": str(secret)}

    assert storages_from_environment(env)["default"]["OPTIONS"]["secret_key"] == "from-a-file"


@pytest.mark.parametrize(
    "change",
    [
        {"GOVFLOW_S3_SECRET_KEY": ""},
        {"GOVFLOW_S3_ADDRESSING_STYLE": "dns"},
        {"GOVFLOW_S3_SECRET_KEY_FILE": "/nope"},
    ],
)
def test_half_a_configuration_is_refused(change):
    with pytest.raises(ImproperlyConfigured):
        storages_from_environment({**BASE, **change})


def test_check_deploy_warns_while_files_are_local(settings):
    from govflow.settings.storage import storage_deploy_check

    settings.STORAGES = storages_from_environment({})
    assert [w.id for w in storage_deploy_check()] == ["govflow.W402"]
    settings.STORAGES = storages_from_environment(BASE)
    assert storage_deploy_check() == []
