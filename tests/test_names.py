"""Names written once: each dataset's file stem is in datasets.FILES, and nowhere else."""

import dataclasses

from tests.conftest import run_build
from vtklean.model import processed
from vtklean.model.datasets import FILES, OPTIONAL, Datasets


def test_every_dataset_has_one_file_stem():
    fields = {f.name for f in dataclasses.fields(Datasets)} - {"period"}
    assert set(FILES) == fields
    assert len(set(FILES.values())) == len(FILES)
    assert set(OPTIONAL) <= fields


def test_the_processed_folder_loads_what_was_written(tmp_path, tiny_raw):
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017") == 0
    folder = tmp_path / "out" / "processed" / "2017"
    written = {p.stem for p in folder.glob("*.parquet")} & set(FILES.values())
    loaded = processed.load(folder).datasets
    assert set(loaded.frames()) == written
    for name, stem in FILES.items():
        frame = getattr(loaded, name)
        assert (frame is None) == (stem not in written) and (name in OPTIONAL or frame is not None)
    assert loaded.frames()["enhet_maned"].height > 0
