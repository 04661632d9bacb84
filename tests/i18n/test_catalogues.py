"""Every Chinese catalogue is complete: nothing untranslated, nothing fuzzy, and msgfmt accepts it.

The check uses GNU msgfmt (what compilemessages runs): `--check` verifies that placeholders such as %(id)s
match between msgid and msgstr, and `--statistics` reports untranslated and fuzzy entries on stderr.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

import loopcrm

PACKAGE = Path(loopcrm.__file__).parent
APPS = ["service", "improvement", "analytics", "feedback", "value", "loyalty", "imports"]
CATALOGUES = {
    "root": PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    **{app: PACKAGE / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po" for app in APPS},
}


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is not installed")
@pytest.mark.parametrize("name", list(CATALOGUES))
def test_the_chinese_catalogue_is_complete(name):
    path = CATALOGUES[name]
    assert path.exists(), f"{path} is missing"
    result = subprocess.run(["msgfmt", "--statistics", "--check", "-o", "/dev/null", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr
    text = path.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is not installed")
@pytest.mark.parametrize("name", list(CATALOGUES))
def test_the_compiled_catalogue_matches_its_source(name, tmp_path):
    """compilemessages was run after the last edit: the committed .mo says what the .po says."""
    po = CATALOGUES[name]
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing; run compilemessages"
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True, capture_output=True)
    with mo.open("rb") as committed, fresh.open("rb") as compiled:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(compiled)._catalog, (
            f"{mo} is out of date; run compilemessages")


@pytest.mark.django_db
def test_an_agent_who_switched_to_chinese_sees_the_ticket_inbox_in_chinese(org, client):
    client.force_login(org.agent)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("web:ticket_inbox"))
    assert response.status_code == 200
    page = response.content.decode()
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "工单" in title
    assert "待处理的请求和投诉。" in page  # from the service app's own catalogue
    assert "新建工单" in page
    assert "Requests and complaints to handle." not in page
