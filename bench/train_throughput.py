"""Training throughput: `CurriculumSFTTrainer` (LLaRA model) against a plain TRL `SFTTrainer` (the bare
backbone, text-only prompt-completion rows), same rows, backbone and LoRA, on CPU.

    python bench/train_throughput.py                      # 12 steps of batch 4, each variant twice
    python bench/train_throughput.py --steps 20 --rounds 3

Two curriculum variants: `text` feeds the same tokens as the plain trainer; `linear` also feeds hybrid
prompts, one placeholder token longer per item. Both project only the answer's positions through the LM
head, where TRL's fused head projects every position on devices without Triton (as here, on CPU), so on
CPU the ratio measures that saving as well as our trainer's overhead.
Each run is a fresh process (so peak memory is its own); the variants alternate (A B C A B C ...) so
machine noise hits all; tokens/s counts the real (unpadded) tokens each trainer reports. Goal: ratio >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

VARIANTS = (
    "plain SFTTrainer (text-only)",
    "CurriculumSFTTrainer (text)",
    "CurriculumSFTTrainer (linear)",
)
CURRICULA = {VARIANTS[1]: "text", VARIANTS[2]: "linear"}


def run_variant(variant: str, steps: int, batch_size: int, rows: int, data_dir: str | None) -> dict:
    import torch
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from llara_hf import (
        CurriculumSFTConfig,
        CurriculumSFTTrainer,
        LlaraForRecommendation,
        LlaraProcessor,
        load_item_catalogue,
        load_llara_dataset,
        paper_lora_config,
    )
    from llara_hf.backbones import load_backbone
    from llara_hf.data.locate import locate_data_dir
    from llara_hf.training import PAPER_LORA_MODULES

    data_dir = data_dir or locate_data_dir("movielens")
    train = load_llara_dataset("movielens", data_dir=data_dir, trust_pickles=True)["train"]
    train = train.shuffle(seed=0).select(range(rows))
    catalogue = load_item_catalogue("movielens", data_dir=data_dir)
    common = dict(
        output_dir="/tmp/llara_throughput",
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=5e-4,
        logging_steps=steps,
        save_strategy="no",
        report_to=[],
        bf16=True,
        gradient_checkpointing=False,
        use_cpu=not torch.cuda.is_available(),
        seed=0,
        dataloader_num_workers=0,
    )
    processor = LlaraProcessor.from_backbone("default", catalogue)
    if variant == VARIANTS[0]:
        rows_text = train.map(
            lambda row: {
                "prompt": row["prompt_text_only"].rstrip(),
                "completion": " " + row["completion"] + "\n",
            },
            remove_columns=train.column_names,
        )
        trainer = SFTTrainer(
            model=load_backbone("default"),
            args=SFTConfig(**common),
            train_dataset=rows_text,
            processing_class=processor.tokenizer,
            peft_config=LoraConfig(
                task_type="CAUSAL_LM",
                r=8,
                lora_alpha=32,
                lora_dropout=0.1,
                target_modules=list(PAPER_LORA_MODULES),
            ),
        )
    else:
        model = LlaraForRecommendation.from_backbone(
            "default", num_items=catalogue.num_items, tokenizer=processor.tokenizer
        )
        trainer = CurriculumSFTTrainer(
            model=model,
            args=CurriculumSFTConfig(
                curriculum=CURRICULA[variant], recommendation_eval_protocol="none", **common
            ),
            processor=processor,
            train_dataset=train,
            peft_config=paper_lora_config(),
        )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    tokens = next(entry["num_tokens"] for entry in trainer.state.log_history if "num_tokens" in entry)
    return {
        "variant": variant,
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_second": tokens / seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default="bench/train_throughput.json")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.steps * args.batch_size
    if args.worker:
        print(json.dumps(run_variant(args.worker, args.steps, args.batch_size, rows, args.data_dir)))
        return

    runs = []
    for _ in range(args.rounds):
        for variant in VARIANTS:
            command = [sys.executable, __file__, "--worker", variant, "--steps", str(args.steps)]
            command += ["--batch-size", str(args.batch_size)] + (
                ["--data-dir", args.data_dir] if args.data_dir else []
            )
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for variant in VARIANTS:
        mine = [run for run in runs if run["variant"] == variant]
        summary[variant] = {
            "tokens_per_second": statistics.median(run["tokens_per_second"] for run in mine),
            "peak_rss_mib": max(run["peak_rss_mib"] for run in mine),
        }
    plain = summary[VARIANTS[0]]["tokens_per_second"]
    ratios = {variant: summary[variant]["tokens_per_second"] / plain for variant in VARIANTS[1:]}
    print(
        f"\nSmolLM2-135M, LoRA r8 on q/k/v/o/gate/up/down, bf16 autocast, batch {args.batch_size}, {args.steps} steps"
    )
    print(f"{'trainer':<34}{'tokens/s':>10}{'peak RSS MiB':>14}")
    for variant, values in summary.items():
        print(f"{variant:<34}{values['tokens_per_second']:>10.1f}{values['peak_rss_mib']:>14.0f}")
    for variant, ratio in ratios.items():
        print(f"ratio {variant} / plain: {ratio:.3f}")
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(
            {"machine": platform.platform(), "runs": runs, "summary": summary, "ratios": ratios},
            handle,
            indent=2,
        )


if __name__ == "__main__":
    main()
