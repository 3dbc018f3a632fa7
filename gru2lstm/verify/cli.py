"""`gru2lstm verify`: the subcommand's arguments and its run. torch is imported only inside run()."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
drive: for each epoch: reset; STEPS/EPOCHS times act + observe (an episode ends every 7 steps,
not aligned with the epochs); then train once (every step with --train-every step).
models: the IQN methods (take_action, add_memory_ppo, train_step, start_epoch_action), a module
whose forward(x, h) returns (y, h') (also a GRUCell agent with init_hidden()), an actor-critic
whose act(obs, h, masks) returns the next state (with evaluate_actions), or --driver.
checks: interface, shapes, replay, equivalence (default), memory (--learn); each judges the
rewrite against the original under the same drive (an original that fails there: exit 2).
The same keys can be set in [tool.gru2lstm.verify] of pyproject.toml (found upward from the file)
or in a TOML file given with --config; command-line options win.
exit codes: 0 all checks passed; 1 a check failed; 2 usage or configuration error.
See docs/verify.md."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if not parser.epilog:
        parser.epilog = EPILOG
    parser.add_argument("rewritten", metavar="REWRITTEN.py", help="the migrated (LSTM) file")
    parser.add_argument("--original", metavar="ORIGINAL.py", help="the file before the migration (default: git show HEAD:<file>)")
    parser.add_argument("--class", dest="class_name", metavar="NAME", help="the model class (or factory) to build")
    parser.add_argument("--kwargs", metavar="JSON", help="constructor keyword arguments, a JSON object")
    parser.add_argument("--obs-shape", metavar="D1,D2,...", help="shape of one observation (default: from the kwargs)")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="acting steps in all, each followed by observe; split into the epochs (default 72)")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="epochs, each starting with reset and ending with one train call (default 3)")
    parser.add_argument("--train-every", choices=("epoch", "step"), default=None,
                        help="epoch: train once at each epoch's end, as an experiment does (default); step: after every step")
    parser.add_argument("--seed", type=int, metavar="S", help="seed for models, observations and sampling (default 0)")
    parser.add_argument("--learn", action="store_true", default=None, help="also run the memory check (trains both models on a cue-recall task, 3 seeds)")
    parser.add_argument("--learn-budget", type=float, metavar="SECONDS", help="seconds the memory check may train the original and the rewrite over 3 seeds (default 180)")
    parser.add_argument("--driver", metavar="module:function",
                        help="a function(model) -> gru2lstm.verify.Interface for models the harness cannot drive itself")
    parser.add_argument("--factory", metavar="module:function",
                        help="builds the model as function(cls, **kwargs), for constructor arguments JSON cannot express")
    parser.add_argument("--checks", metavar="NAME,...", help="run only these checks")
    parser.add_argument("--config", metavar="FILE", help="a TOML file with the same keys")
    parser.add_argument("--format", choices=("text", "json"), default=None, help="text: a table (default); json: one object on stdout")


def _cli_values(args: argparse.Namespace) -> dict:
    keys = ("original", "class_name", "kwargs", "obs_shape", "steps", "epochs", "train_every", "seed", "learn", "learn_budget", "driver", "factory", "checks", "format")
    return {key: getattr(args, key, None) for key in keys if getattr(args, key, None) is not None}


def run(args: argparse.Namespace) -> int:
    from gru2lstm.verify.config import ConfigError, load_config
    from gru2lstm.verify.results import EXIT_USAGE

    try:
        config = load_config(args.rewritten, _cli_values(args), getattr(args, "config", None))
    except ConfigError as error:
        print(f"gru2lstm verify: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    from gru2lstm.verify.runner import run as run_checks

    report = run_checks(args.rewritten, config)
    if config.format == "json":
        report.render_json(sys.stdout)
    else:
        report.render_text(sys.stdout, sys.stderr)
    return report.exit_code


def main(argv=None) -> int:
    """`python -m gru2lstm.verify.cli ...` (the same as `gru2lstm verify ...`)."""
    parser = argparse.ArgumentParser(prog="gru2lstm verify", description="Verify a GRU -> LSTM migration by running it.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
