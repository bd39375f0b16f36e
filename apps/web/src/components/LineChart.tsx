import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent, type RefObject } from 'react';
import { linearScale, maxValue, stepIndexAt, stepPath, tickLabel, timeTickLabel, timeTicks, valueTicks, type ChartPoint } from '../lib/chart';
import { formatDateTime, formatDateTimeSeconds } from '../lib/format';

const H = 200;
const M = { top: 14, right: 16, bottom: 28, left: 74 };

/**
 * The plot's width in CSS pixels, so the SVG is drawn 1:1 and its text keeps its size whatever the
 * layout (560 until measured, and where ResizeObserver is missing).
 */
function useWidth(ref: RefObject<HTMLDivElement | null>): number {
  const [width, setWidth] = useState(560);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver((entries) => {
      const measured = Math.round(entries[0]?.contentRect.width ?? 0);
      if (measured > 0) setWidth(Math.max(240, measured));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

interface LineChartProps {
  /** What the chart shows, e.g. "tiny-linux: storage price per month". Its accessible name. */
  title: string;
  /** The unit of the values, e.g. "$ per month". */
  unit: string;
  /** Oldest first; values are exact decimal text. */
  points: readonly ChartPoint[];
  /** The range shown (epoch ms). */
  from: number;
  to: number;
  /** How a value is written in the tooltip and the table: "$3 per month". */
  formatValue?: (value: string) => string;
}

/**
 * A small hand-written SVG chart of a price over time, drawn as steps (a price holds until the
 * next recorded one). Hover or focus it and use the arrow keys to read each point's exact value;
 * every value is also in the table below it.
 */
export function LineChart({ title, unit, points, from, to, formatValue = (v) => v }: LineChartProps) {
  const id = useId();
  const svgRef = useRef<SVGSVGElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const W = useWidth(plotRef);
  const [active, setActive] = useState<number | null>(null);
  const end = Math.max(from + 1, Math.min(to, Date.now()));
  const geometry = useMemo(() => {
    const { top, ticks } = valueTicks(maxValue(points));
    const x = linearScale([from, to], [M.left, W - M.right]);
    const y = linearScale([0, top], [H - M.bottom, M.top]);
    return { x, y, ticks, times: timeTicks(from, to, Math.max(2, Math.floor((W - M.left - M.right) / 90))), path: stepPath(points, x, y, end) };
  }, [points, from, to, end, W]);
  const { x, y, ticks, times, path } = geometry;
  const span = to - from;
  const selected = active != null && points[active] ? points[active] : null;
  const describe = () => {
    if (points.length === 0)
      return `No prices were recorded between ${formatDateTime(new Date(from).toISOString())} and ${formatDateTime(new Date(to).toISOString())}.`;
    const last = points[points.length - 1];
    return `${points.length} recorded ${points.length === 1 ? 'price' : 'prices'} in ${unit} from ${formatDateTime(new Date(points[0].t).toISOString())}; the latest, ${formatValue(last.value)}, at ${formatDateTime(new Date(last.t).toISOString())}. The exact values are in the table below the chart.`;
  };

  const pick = (event: PointerEvent<SVGSVGElement>) => {
    const svg = svgRef.current;
    if (!svg || points.length === 0) return;
    const rect = svg.getBoundingClientRect();
    const sx = ((event.clientX - rect.left) / rect.width) * W;
    const t = from + ((sx - M.left) / (W - M.left - M.right)) * span;
    setActive(stepIndexAt(points, t));
  };
  const onKey = (event: KeyboardEvent<SVGSVGElement>) => {
    if (points.length === 0) return;
    const last = points.length - 1;
    const moves: Record<string, number> = {
      ArrowLeft: Math.max(0, (active ?? last + 1) - 1),
      ArrowRight: Math.min(last, (active ?? -1) + 1),
      Home: 0,
      End: last,
    };
    if (event.key in moves) {
      event.preventDefault();
      setActive(moves[event.key]);
    } else if (event.key === 'Escape') setActive(null);
  };

  return (
    <figure className="chart">
      <figcaption className="chart__caption">
        <span className="chart__title">{title}</span>
        <span className="chart__unit">{unit}</span>
      </figcaption>
      <div className="chart__plot" ref={plotRef}>
        <svg
          ref={svgRef}
          viewBox={`0 0 ${W} ${H}`}
          role="img"
          aria-labelledby={`${id}-t`}
          aria-describedby={`${id}-d`}
          tabIndex={0}
          onPointerMove={pick}
          onPointerDown={pick}
          onPointerLeave={() => setActive(null)}
          onKeyDown={onKey}
          onBlur={() => setActive(null)}
        >
          <title id={`${id}-t`}>{title}</title>
          <desc id={`${id}-d`}>{describe()}</desc>
          <g className="chart__grid" aria-hidden="true">
            {ticks.map((tick) => (
              <g key={tick}>
                <line x1={M.left} x2={W - M.right} y1={y(tick)} y2={y(tick)} />
                <text x={M.left - 8} y={y(tick)} dy="0.32em" textAnchor="end">
                  {tickLabel(tick)}
                </text>
              </g>
            ))}
            {times.map((t) => (
              <g key={t}>
                <line className="chart__tick" x1={x(t)} x2={x(t)} y1={H - M.bottom} y2={H - M.bottom + 4} />
                <text x={x(t)} y={H - M.bottom + 17} textAnchor="middle">
                  {timeTickLabel(t, span)}
                </text>
              </g>
            ))}
            <line className="chart__axis" x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} />
          </g>
          {path && <path className="chart__line" d={path} aria-hidden="true" />}
          {points.length <= 60 &&
            points.map((point, i) => (
              <circle key={`${point.t}-${i}`} className="chart__dot" cx={x(point.t)} cy={y(Number(point.value))} r={2.5} aria-hidden="true" />
            ))}
          {selected && (
            <g aria-hidden="true">
              <line className="chart__cursor" x1={x(selected.t)} x2={x(selected.t)} y1={M.top} y2={H - M.bottom} />
              <circle className="chart__dot chart__dot--active" cx={x(selected.t)} cy={y(Number(selected.value))} r={4.5} />
            </g>
          )}
        </svg>
        {selected && (
          <div
            className={`chart__tooltip${x(selected.t) > W * 0.6 ? ' chart__tooltip--left' : ''}`}
            style={{ left: `${(x(selected.t) / W) * 100}%`, top: `${(y(Number(selected.value)) / H) * 100}%` }}
            aria-hidden="true"
          >
            <strong className="mono">{formatValue(selected.value)}</strong>
            <span>{formatDateTimeSeconds(new Date(selected.t).toISOString())}</span>
          </div>
        )}
        <p className="sr-only" aria-live="polite">
          {selected ? `${formatValue(selected.value)} at ${formatDateTime(new Date(selected.t).toISOString())}` : ''}
        </p>
        {points.length === 0 && <p className="chart__empty">No prices recorded in this range yet.</p>}
      </div>
      {points.length > 0 && (
        <details className="chart__values">
          <summary>Exact values ({points.length})</summary>
          <div className="chart__table">
            <table className="table table--compact">
              <caption className="sr-only">{title}</caption>
              <thead>
                <tr>
                  <th scope="col">Recorded</th>
                  <th scope="col" className="num">
                    {unit}
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...points].reverse().map((point, i) => (
                  <tr key={`${point.t}-${i}`}>
                    <td>{formatDateTimeSeconds(new Date(point.t).toISOString())}</td>
                    <td className="num money">{point.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </figure>
  );
}
