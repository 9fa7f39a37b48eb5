"""Reports: schedule previews, plots and writers (matplotlib with the Agg backend)."""

from superconverge.report.schedule_preview import (
    ascii_chart,
    draw_policy,
    plot_policy,
    render_policy,
)

__all__ = ["ascii_chart", "draw_policy", "plot_policy", "render_policy"]
