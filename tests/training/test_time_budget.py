"""train.max_minutes: a run that must end in time stops cleanly, saved as at its last step, and resumes."""

from __future__ import annotations

import pytest
from support import write_small_config

from adain.config import load_config
from adain.errors import UserError
from adain.run import CHECKPOINT_DIR
from adain.training.loop import train


@pytest.mark.slow  # two real trainings
def test_a_used_up_budget_stops_with_a_checkpoint_and_the_run_resumes(tmp_path, shared_data, capfd):
    config = write_small_config(tmp_path / "c.yaml", tmp_path / "run", shared_data / "content", shared_data / "style")
    # A budget shorter than one step: the run stops after its first step, of 40.
    run = train(load_config(config, ["train.steps=40", "train.max_minutes=0.0001"]))
    err = capfd.readouterr().err
    assert "time budget: train.max_minutes=0.0001 used up at step 1 of 40" in err
    assert "done: step 1;" in err
    assert (run / "decoder.keras").is_file()
    assert (run / CHECKPOINT_DIR / "ckpt-1.index").is_file()  # saved at the step it stopped, not only every 2
    # The same command again: it resumes at step 1 with a new budget, and stops again after one step.
    train(load_config(config, ["train.steps=40", "train.max_minutes=0.0001"]))
    err = capfd.readouterr().err
    assert "at step 1" in err and "used up at step 2 of 40" in err and "done: step 2;" in err
    assert (run / CHECKPOINT_DIR / "ckpt-2.index").is_file()


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_the_budget_is_validated(tmp_path, shared_data, value):
    config = write_small_config(tmp_path / "c.yaml", tmp_path / "run", shared_data / "content", shared_data / "style")
    with pytest.raises(UserError, match="train.max_minutes must be"):
        load_config(config, [f"train.max_minutes={value}"])
