"""Over HTTP no field names a path on the server (`SubmissionIn._no_paths`): media are uploaded,
and a declared thumbnail (never read) is a bare file name, refused like `media` when it is a path
that could point outside the upload folder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complianceguard.api.schemas import NO_PATHS, NO_THUMBNAIL_PATHS, SubmissionIn, describe


def refusal(fields: dict) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        SubmissionIn.model_validate({"regions": ["GB"], **fields})
    return describe(raised.value.errors())


@pytest.mark.parametrize("path", ["../cover.jpg", "/etc/passwd", "uploads/../../cover.jpg", "a/cover.jpg",
                                  "C:cover.jpg", "..\\cover.jpg", ".", "..", "", " cover.jpg", "cover\x00.jpg"])
def test_a_thumbnail_path_is_refused_naming_the_field(path):
    assert refusal({"thumbnail": path}) == ("thumbnail", f"field thumbnail: {NO_THUMBNAIL_PATHS}")


def test_media_paths_are_refused_by_the_same_check():
    assert refusal({"media": ["cover.jpg"]}) == ("media", f"field media: {NO_PATHS}")


def test_a_bare_thumbnail_name_is_declared_as_given():
    assert SubmissionIn.model_validate({"regions": ["GB"], "thumbnail": "cover.jpg"}).thumbnail == "cover.jpg"
    assert SubmissionIn.model_validate({"regions": ["GB"]}).thumbnail is None
