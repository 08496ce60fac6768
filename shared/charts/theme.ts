/** Colours the charts use, per theme; the UI's CSS variables hold the same values. */
export interface ChartTheme {
  name: 'light' | 'dark';
  text: string;
  muted: string;
  grid: string;
  background: string;
  series: readonly string[];
  change: string;
  rollback: string;
  incident: string;
  detected: string;
  alert: string;
  /** a change a model would have held back: near-black (near-white in dark), outside the series palette and the red of incidents */
  held: string;
}

export const LIGHT: ChartTheme = {
  name: 'light', text: '#1f2933', muted: '#616e7c', grid: '#e4e7eb', background: '#ffffff',
  series: ['#2563eb', '#0d9488', '#9333ea', '#ea580c', '#db2777', '#65a30d'],
  change: '#7b8794', rollback: '#d97706', incident: 'rgba(220, 38, 38, 0.14)', detected: '#dc2626', alert: '#7c3aed', held: '#111827',
};

export const DARK: ChartTheme = {
  name: 'dark', text: '#e4e7eb', muted: '#9aa5b1', grid: '#323f4b', background: '#1a222c',
  series: ['#60a5fa', '#2dd4bf', '#c084fc', '#fb923c', '#f472b6', '#a3e635'],
  change: '#7b8794', rollback: '#fbbf24', incident: 'rgba(248, 113, 113, 0.20)', detected: '#f87171', alert: '#a78bfa', held: '#f9fafb',
};
