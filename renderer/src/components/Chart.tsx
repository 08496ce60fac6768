import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { AriaComponent, DataZoomComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, ScatterChart, BarChart, AriaComponent, GridComponent, TooltipComponent, DataZoomComponent, MarkLineComponent, MarkAreaComponent, LegendComponent, TitleComponent, CanvasRenderer]);

export type ChartEvents = Record<string, (params: unknown, chart: echarts.ECharts) => void>;

/** A thin holder for an echarts instance: options come from pure functions in shared/charts. */
export function Chart({ option, height, events, testId }: { option: Record<string, unknown>; height: number; events?: ChartEvents; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    const instance = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.current = instance;
    const resize = new ResizeObserver(() => instance.resize());
    resize.observe(ref.current);
    return () => {
      resize.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    // echarts' aria writes a text description of the chart (its series and first values) into the
    // container's aria-label: a canvas says nothing to a screen reader otherwise.
    chart.current?.setOption({ aria: { enabled: true }, ...option }, { notMerge: true, lazyUpdate: false });
  }, [option]);
  useEffect(() => {
    const instance = chart.current;
    if (!instance || !events) return;
    const bound = Object.entries(events).map(([name, handler]) => {
      const fn = (params: unknown): void => handler(params, instance);
      instance.on(name, fn);
      return [name, fn] as const;
    });
    return () => bound.forEach(([name, fn]) => instance.off(name, fn));
  }, [events]);
  useEffect(() => {
    chart.current?.resize();
  }, [height]);
  return <div ref={ref} style={{ height, width: '100%' }} data-testid={testId} />;
}
