"""MRP cost against BOM size: generated 6-level structures of 1k, 10k and 100k lines.

    python benchmarks/bench_mrp.py [--repeat N] [--sizes 1000,10000,100000] [--seed S]

Each size is a company making many products: product families of about 180 BOM lines each
(six levels, 3-5 components per made item, some lines skipping a level so low-level codes
matter), every family also using a pool of 40 shared bought parts (screws, glue, ...), one
demand per family's top item, stock on a third of the bought parts, open orders on some,
and work centers in proportion to the families (1-2 operations per made item, so production
runs on finite capacity). The work is the whole of :func:`supplymesh.domain.mrp.plan`: one
explosion over all items by low-level code, netting, lot sizing, finite-capacity scheduling
and a critical path per demand; building the structure (validation and low-level codes) is
timed with it. Goals from issue 7: cost growth from 1k to 100k lines at most 120x (near
linear), and the 10k-line plan in seconds (at most 10 s), where ERP anchors take minutes.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType

from supplymesh.domain.bom import (
    BomLine,
    Item,
    LotRule,
    LotSizing,
    Operation,
    Procurement,
    ProductStructure,
    Routing,
)
from supplymesh.domain.capacity import WorkCenter
from supplymesh.domain.mrp import plan
from supplymesh.domain.planning import (
    Demand,
    PlanInputs,
    ScheduledReceipt,
    StockLevel,
    SupplierQuote,
)

TODAY = date(2026, 11, 30)
LEVEL_SIZES = (1, 3, 6, 10, 14, 16)  # items per level in one family: six levels, 0..5
SHARED_PARTS = 40
GROWTH_GOAL = 120.0
TEN_K_GOAL_SECONDS = 10.0
MIN_SECONDS = 2.0  # keep running a size until this much was spent planning it ...
MAX_RUNS = 200  # ... or this many runs; the best run counts (timeit's rule)


@dataclass(frozen=True)
class Generated:
    """One generated planning problem."""

    lines: list[BomLine]
    items: list[Item]
    routings: list[Routing]
    demands: tuple[Demand, ...]
    stock: Mapping[str, StockLevel]
    receipts: tuple[ScheduledReceipt, ...]
    work_centers: tuple[WorkCenter, ...]
    sourcing: Mapping[str, tuple[SupplierQuote, ...]]

    def inputs(self) -> PlanInputs:
        """Build the structure (validation, low-level codes) and the plan's inputs."""
        return PlanInputs(
            demands=self.demands,
            structure=ProductStructure.build(self.items, self.lines, self.routings),
            today=TODAY,
            stock=self.stock,
            receipts=self.receipts,
            work_centers=self.work_centers,
            sourcing=self.sourcing,
        )


def generate(target_lines: int, seed: int) -> Generated:
    """A company whose BOM has about ``target_lines`` lines."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    items: list[Item] = []
    lines: list[BomLine] = []
    routings: list[Routing] = []
    shared = [f"S{n:02}" for n in range(SHARED_PARTS)]
    for part in shared:
        items.append(Item(part, "pcs", Procurement.BUY, lead_time_days=rng.randint(1, 10)))
    families: list[str] = []
    work_centers: list[WorkCenter] = []
    family = 0
    while len(lines) < target_lines:
        prefix = f"F{family:05}"
        levels = [
            [f"{prefix}-{k}-{n:02}" for n in range(size)] for k, size in enumerate(LEVEL_SIZES)
        ]
        families.append(levels[0][0])
        if family % 2 == 0:
            center_id = f"WC{len(work_centers):04}"
            hours = Decimal(rng.choice((8, 8, 16)))
            work_centers.append(WorkCenter(center_id, hours))
        for depth, level in enumerate(levels):
            for item_id in level:
                if depth == len(levels) - 1:
                    lot = LotSizing(LotRule.MULTIPLE, Decimal(10)) if rng.random() < 0.3 else None
                    items.append(
                        Item(
                            item_id,
                            "pcs",
                            Procurement.BUY,
                            lead_time_days=rng.randint(1, 15),
                            lot_sizing=lot or LotSizing(),
                        )
                    )
                    continue
                items.append(Item(item_id, "pcs", Procurement.MAKE))
                below = levels[depth + 1]
                components = set(rng.sample(below, min(len(below), rng.randint(3, 5))))
                # Every item of the level below gets a parent: no dead parts in the structure.
                position = level.index(item_id)
                components.update(below[position :: len(level)])
                if depth + 2 < len(levels) and rng.random() < 0.3:
                    components.add(rng.choice(levels[depth + 2]))
                if depth >= 3 and rng.random() < 0.5:
                    components.add(rng.choice(shared))
                for component in sorted(components):
                    quantity = Decimal(rng.choice((1, 1, 1, 2)))
                    scrap = Decimal(rng.choice((0, 0, 2, 5)))
                    lines.append(BomLine(item_id, component, quantity, scrap))
                operations = tuple(
                    Operation(
                        10 * (n + 1),
                        rng.choice(work_centers[-3:]).id,  # the family's own plant
                        Decimal(rng.choice(("0.01", "0.02", "0.05"))),
                        Decimal(rng.choice(("0", "0.25", "0.5"))),
                    )
                    for n in range(rng.randint(1, 2))
                )
                routings.append(Routing(item_id, operations))
        family += 1
    del lines[target_lines:]  # the last family may be cut short: exactly the target
    bought = [item.id for item in items if item.procurement is Procurement.BUY]
    stock = {
        part: StockLevel(Decimal(rng.randint(1, 60)), Decimal(rng.randint(0, 5)) / 5)
        for part in bought
        if rng.random() < 0.33
    }
    receipts = tuple(
        ScheduledReceipt(
            f"PO{n}", part, Decimal(rng.randint(5, 100)), TODAY + timedelta(rng.randint(1, 20))
        )
        for n, part in enumerate(rng.sample(bought, len(bought) // 10))
    )
    sourcing = {
        part: (SupplierQuote(f"{part.lower()}.supplier.example", rng.randint(1, 8)),)
        for part in rng.sample(bought, len(bought) // 5)
    }
    demands = tuple(
        Demand(f"D-{top}", top, Decimal(rng.randint(1, 5)), priority=n % 3)
        for n, top in enumerate(families)
    )
    return Generated(
        lines,
        items,
        routings,
        demands,
        MappingProxyType(stock),
        receipts,
        tuple(work_centers),
        MappingProxyType(sourcing),
    )


@dataclass(frozen=True)
class Run:
    """The best times of one size."""

    target: int
    lines: int
    items: int
    demands: int
    orders: int
    runs: int
    build: float
    plan: float
    plan_gc: float

    @property
    def total(self) -> float:
        """Structure build (low-level codes) plus plan, garbage collector off."""
        return self.build + self.plan

    @property
    def total_gc(self) -> float:
        """The same with the garbage collector on."""
        return self.build + self.plan_gc


def _timed_plan(inputs: PlanInputs, with_gc: bool) -> tuple[float, int]:
    gc.collect()
    if not with_gc:
        gc.disable()
    try:
        started = time.process_time()
        result = plan(inputs)
        elapsed = time.process_time() - started
    finally:
        gc.enable()
    return elapsed, len(result.purchases) + len(result.productions)


def measure(target: int, repeat: int, seed: int) -> Run:
    """Build and plan one generated size: best of at least ``repeat`` runs and about 2 s."""
    generated = generate(target, seed)
    best_build = best_plan = best_plan_gc = float("inf")
    orders = runs = 0
    spent = 0.0
    while runs < repeat or (spent < MIN_SECONDS and runs < MAX_RUNS):
        gc.collect()
        gc.disable()
        started = time.process_time()
        inputs = generated.inputs()
        best_build = min(best_build, time.process_time() - started)
        gc.enable()
        elapsed, orders = _timed_plan(inputs, with_gc=False)
        best_plan = min(best_plan, elapsed)
        elapsed_gc, _ = _timed_plan(inputs, with_gc=True)
        best_plan_gc = min(best_plan_gc, elapsed_gc)
        spent += elapsed + elapsed_gc
        runs += 1
    return Run(
        target,
        len(generated.lines),
        len(generated.items),
        len(generated.demands),
        orders,
        runs,
        best_build,
        best_plan,
        best_plan_gc,
    )


def main(argv: list[str] | None = None) -> int:
    """Plan each size, print the table and the goals; exit 0 whatever the verdicts."""
    parser = argparse.ArgumentParser(description="supplymesh MRP cost against BOM size")
    parser.add_argument("--repeat", type=int, default=5, help="at least this many runs per size")
    parser.add_argument("--sizes", default="1000,10000,100000", help="BOM lines per size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    runs = []
    title = (
        f"{'lines':>8}{'items':>8}{'demands':>9}{'orders':>8}{'runs':>6}"
        f"{'build s':>9}{'plan s':>9}{'total s':>9}{'µs/line':>9}{'total s, gc on':>16}"
    )
    print(title)
    print("-" * len(title))
    for size in sizes:
        run = measure(size, args.repeat, args.seed)
        runs.append(run)
        print(
            f"{run.lines:>8,}{run.items:>8,}{run.demands:>9,}{run.orders:>8,}{run.runs:>6}"
            f"{run.build:>9.3f}{run.plan:>9.3f}{run.total:>9.3f}"
            f"{run.total / run.lines * 1e6:>9.1f}{run.total_gc:>16.3f}",
            flush=True,
        )
    print("best run of each size; build = validation + low-level codes; plan = explosion,")
    print("netting, lot sizing, finite-capacity scheduling and critical paths, in one pass;")
    print("garbage collector off (timeit's rule) except in the last column; CPU time of this")
    print("process (time.process_time), so other work on the machine is not counted")
    print()
    print(f"{'goal':<36}{'measured':>10}{'goal':>10}  result")
    by_size = {run.target: run for run in runs}
    if 1000 in by_size and 100000 in by_size:
        small, large = by_size[1000], by_size[100000]
        growth = large.total / small.total
        verdict = "PASS" if growth <= GROWTH_GOAL else "BELOW"
        print(f"{'cost growth 1k -> 100k lines':<36}{growth:>9.0f}x{GROWTH_GOAL:>9.0f}x  {verdict}")
        print(
            f"{'  (work: planned orders grew':<36}{large.orders / small.orders:>9.0f}x"
            f"{'':>10}  same shape at every size)"
        )
        growth_gc = large.total_gc / small.total_gc
        verdict = "PASS" if growth_gc <= GROWTH_GOAL else "BELOW"
        print(f"{'  the same, gc on':<36}{growth_gc:>9.0f}x{GROWTH_GOAL:>9.0f}x  {verdict}")
    if 10000 in by_size:
        seconds = by_size[10000].total_gc
        verdict = "PASS" if seconds <= TEN_K_GOAL_SECONDS else "BELOW"
        goal = f"{TEN_K_GOAL_SECONDS:>9.0f}s"
        print(f"{'10k-line plan time, gc on':<36}{seconds:>9.2f}s{goal}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
