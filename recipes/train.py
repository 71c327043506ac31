"""Train LLaRA with the curriculum trainer.

    accelerate launch recipes/train.py --config recipes/configs/smoke.yaml
    accelerate launch --config_file recipes/accelerate/ddp.yaml recipes/train.py \
        --config recipes/configs/movielens.yaml --backbone meta-llama/Llama-2-7b-hf --output_dir runs/ml

Every field of `LlaraTrainArguments` and `CurriculumSFTConfig` (TRL's `SFTConfig`) can be set in the YAML
file or overridden on the command line (e.g. `--output_dir DIR --max_steps 10`).
"""

from trl import TrlParser

from llara_hf import CurriculumSFTConfig, LlaraTrainArguments, train_llara


def main() -> None:
    parser = TrlParser((LlaraTrainArguments, CurriculumSFTConfig))
    script_args, training_args = parser.parse_args_and_config()
    train_llara(script_args, training_args)


if __name__ == "__main__":
    main()
