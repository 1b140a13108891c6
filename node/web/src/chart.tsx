/** A bar chart drawn by ECharts, loaded on first use (its own chunk, not in the first load). */
import { useEffect, useRef } from 'react'

export function BarChart({ labels, values, title }: { labels: string[]; values: number[]; title: string }) {
  const el = useRef<HTMLDivElement>(null)
  useEffect(() => {
    let disposed = false
    let chart: { dispose(): void; resize(): void } | undefined
    const onResize = () => chart?.resize()
    void (async () => {
      const [core, charts, components, renderers] = await Promise.all([import('echarts/core'), import('echarts/charts'), import('echarts/components'), import('echarts/renderers')])
      core.use([charts.BarChart, components.GridComponent, components.TooltipComponent, components.TitleComponent, renderers.CanvasRenderer])
      if (disposed || !el.current) return
      const c = core.init(el.current)
      c.setOption({
        title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
        tooltip: { trigger: 'axis' },
        grid: { left: 48, right: 16, bottom: 48, top: 40 },
        xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: labels.length > 8 ? 30 : 0 } },
        yAxis: { type: 'value', minInterval: 1 },
        series: [{ type: 'bar', data: values, label: { show: true, position: 'top' } }],
      })
      chart = c
      window.addEventListener('resize', onResize)
    })()
    return () => {
      disposed = true
      window.removeEventListener('resize', onResize)
      chart?.dispose()
    }
  }, [labels, values, title])
  return <div ref={el} style={{ width: '100%', height: 320 }} className="xj-chart" />
}
