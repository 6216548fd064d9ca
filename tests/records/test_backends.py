from config.backends import backend_summary


def test_summary_names_local_files_as_the_embedded_default(settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""
    assert "local files under" in dict(backend_summary())["records files"]


def test_summary_names_the_bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = "clinic-records"
    assert dict(backend_summary())["records files"].startswith("S3 bucket clinic-records")
