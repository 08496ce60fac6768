import { create } from 'zustand';
import type { ImportReport, JobStatus, Service, Source, WorkspaceInfo } from '../../shared/contract/records.js';
import type { ImportOptionsInput, MethodOutput } from '../../shared/contract/methods.js';
import type { ModelInfo, RunConfigInput, RunInfo, TrainOptionsInput } from '../../shared/contract/models.js';
import type { Comparison, GateResult, GateSpecInput, SavedGate } from '../../shared/contract/gates.js';
import type { AttributionResult, DetectionReport, DetectionRunConfigInput, DetectionRunInfo, IncidentDetection, ReplayFrame } from '../../shared/contract/detection.js';
import { messageOf, type Client } from './client/client.js';

/** demoJobId while demo.open is asked and its job id not yet known. */
export const DEMO_STARTING = 'starting';

/** The pages, in the order of the top bar; the address bar's #/page names one. */
export const PAGES = ['home', 'data', 'explore', 'models', 'runs', 'results', 'compare', 'detection', 'drills', 'audit', 'settings'] as const;
export type Page = (typeof PAGES)[number];
export type Theme = 'light' | 'dark';

interface State {
  client: Client | null;
  page: Page;
  theme: Theme;
  app: MethodOutput<'app.info'> | null;
  workspace: WorkspaceInfo | null;
  workspaces: MethodOutput<'workspace.list'>;
  jobs: Record<string, JobStatus>;
  services: Service[];
  selectedService: string | null;
  sources: Source[];
  /** The import the Data page is following, and its report when done. */
  importJobId: string | null;
  uploadProgress: number | null;
  demoJobId: string | null;
  models: ModelInfo[];
  runs: RunInfo[];
  selectedRunId: number | null;
  runJobId: string | null;
  detectionRuns: DetectionRunInfo[];
  detectionJobId: string | null;
  detection: { runId: number; report: DetectionReport; incidents: IncidentDetection[]; attribution: AttributionResult } | null;
  /** the change-risk run whose models also rank attribution candidates (kept across reloads of the detection results) */
  attributionRiskRun: number | null;
  replay: ReplayFrame | null;
  championId: number | null;
  retrainJobId: string | null;
  /** the report being built, downloaded when its job ends */
  reportJobId: string | null;
  comparison: Comparison | null;
  comparing: boolean;
  gates: SavedGate[];
  presets: GateSpecInput[];
  gateResult: GateResult | null;
  gateError: string | null;
  error: string | null;
}

interface Actions {
  start(client: Client): Promise<void>;
  navigate(page: Page): void;
  setTheme(theme: Theme): void;
  dismissError(): void;
  refresh(): Promise<void>;
  openDemo(): Promise<void>;
  openWorkspace(name: string): Promise<void>;
  createWorkspace(name: string): Promise<void>;
  closeWorkspace(): Promise<void>;
  selectService(name: string): void;
  importFile(file: File, options: Omit<ImportOptionsInput, 'mapping'>): Promise<void>;
  /** Import an upload the wizard already checked, following the job like importFile does. */
  importUpload(upload: { uploadId: string; fileName: string }, options: ImportOptionsInput): Promise<void>;
  cancelJob(jobId: string): Promise<void>;
  /** Undoes an import; the sentence to show, or the engine's refusal as an Error. */
  deleteSource(id: number): Promise<string>;
  refreshModels(): Promise<void>;
  trainModel(options: TrainOptionsInput): Promise<ModelInfo | null>;
  /** Rejects with the engine's reason when the model is refused. */
  addOnnx(file: File, manifest: unknown): Promise<ModelInfo>;
  retireModel(id: number): Promise<void>;
  startRun(config: RunConfigInput): Promise<void>;
  openRun(id: number): void;
  startDetection(config: DetectionRunConfigInput): Promise<void>;
  openDetection(runId: number): Promise<void>;
  openReplay(incident: string | null, cursor?: number): Promise<void>;
  rankAttribution(riskRunId: number | null): Promise<void>;
  loadGates(): Promise<void>;
  setChampion(modelId: number | null, reason?: string): Promise<void>;
  compare(runId: number, championId: number, challengerId: number): Promise<void>;
  /** The champion is the one the Compare page shows (null: none). */
  /** `championId` undefined: the workspace's champion (undecided if it did not run); null: none. */
  checkGate(runId: number, modelId: number, specText: string, championId: number | null | undefined): Promise<void>;
  saveGate(specText: string): Promise<SavedGate | null>;
  /** The report of what the Compare page shows: its champion and the gate in its editor. */
  exportReport(runId: number, format: 'html' | 'md', view: { championId: number | null; specText: string }): Promise<void>;
  /** A detection run's report, judged by the gate in the Detection page's editor (null: no gate). */
  exportDetectionReport(runId: number, format: 'html' | 'md', specText: string | null): Promise<void>;
  retrain(modelId: number, useFeedback: boolean): Promise<void>;
  revertChampion(): Promise<void>;
  exportDataset(): Promise<void>;
  fail(error: unknown): void;
}

const initialTheme = (): Theme => {
  const saved = localStorage.getItem('shadowbench.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
};

const pageFromHash = (): Page => {
  const p = window.location.hash.replace(/^#\/?/, '');
  return PAGES.find((x) => x === p) ?? 'home';
};

/** The gate editor's live check: whether one is being computed, and the latest edit waiting for it. */
const gateCheck: { running: boolean; next: { runId: number; modelId: number; spec: unknown; championId?: number | null; preview: boolean } | null } = { running: false, next: null };

export const useStore = create<State & Actions>((set, get) => {
  const client = (): Client => {
    const c = get().client;
    if (!c) throw new Error('not connected');
    return c;
  };
  // Every action reports failure in one place, as a message the user can read.
  /** Attribution as the Detection page asks for it: the built-ins, every active ranking model, and the chosen change-risk run's models. */
  const attributionInput = (): { rankers: number[]; riskRun?: { runId: number; modelIds: number[] } } => {
    const run = get().runs.find((r) => r.id === get().attributionRiskRun);
    return {
      rankers: get().models.filter((m) => m.task === 'attribution' && m.status === 'active').map((m) => m.id).slice(0, 10),
      ...(run?.manifest ? { riskRun: { runId: run.id, modelIds: run.manifest.models.map((m) => m.id).slice(0, 10) } } : {}),
    };
  };
  const guard = async (work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      set({ error: messageOf(err) });
    }
  };
  const loadWorkspaceData = async (): Promise<void> => {
    const c = client();
    const [services, sources] = await Promise.all([c.call('services.list', {}), c.call('sources.list', {})]);
    const selected = get().selectedService;
    set({ services, sources, selectedService: selected && services.some((s) => s.name === selected) ? selected : services[0]?.name ?? null });
  };
  const download = (file: { fileName: string; content: string }): void => {
    const type = file.fileName.endsWith('.html') ? 'text/html' : file.fileName.endsWith('.csv') ? 'text/csv' : 'text/markdown';
    const url = URL.createObjectURL(new Blob([file.content], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = file.fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  // The page each job was started from: when it ends, its page (Explore, Results, Compare) opens only
  // if the user is still there; one who went elsewhere meanwhile is not taken away from it.
  const startedOn = new Map<string, Page>();
  const stillWhereStarted = (jobId: string): boolean => {
    const from = startedOn.get(jobId);
    startedOn.delete(jobId);
    return from === undefined || get().page === from;
  };
  const onJobEnded = async (job: JobStatus): Promise<void> => {
    if (job.id === get().demoJobId) {
      set({ demoJobId: null });
      if (job.state === 'done') {
        await get().refresh();
        if (stillWhereStarted(job.id)) get().navigate('explore');
      } else if (job.state === 'failed') set({ error: job.error?.message ?? 'The demo could not be built' });
    }
    if (job.kind === 'import') await get().refresh();
    if (job.kind === 'detection') {
      const runs = await client().call('detection.runs', {});
      set({ detectionRuns: runs });
      if (job.id === get().detectionJobId) {
        set({ detectionJobId: null });
        if (job.state === 'done') await get().openDetection((job.result as DetectionRunInfo).id);
        else if (job.state === 'failed') set({ error: job.error?.message ?? 'The detection run failed' });
      }
    }
    if (job.kind === 'report' && job.id === get().reportJobId) {
      set({ reportJobId: null });
      if (job.state === 'done') download(job.result as { fileName: string; content: string });
      else if (job.state === 'failed') set({ error: job.error?.message ?? 'The report could not be built' });
    }
    if (job.kind === 'retrain' && job.id === get().retrainJobId) {
      set({ retrainJobId: null });
      await get().refreshModels();
      if (job.state === 'done') {
        // Open the comparison of the two versions the retraining just ran.
        set({ comparison: (job.result as { comparison: Comparison }).comparison });
        if (stillWhereStarted(job.id)) get().navigate('compare');
      } else if (job.state === 'failed') set({ error: job.error?.message ?? 'Retraining failed' });
    }
    if (job.kind === 'run') {
      await get().refreshModels();
      if (job.id === get().runJobId && job.state === 'done') {
        set({ runJobId: null });
        const id = (job.result as RunInfo).id;
        if (stillWhereStarted(job.id)) get().openRun(id);
        else set({ selectedRunId: id });
      } else if (job.id === get().runJobId && job.state === 'failed') set({ error: job.error?.message ?? 'The run failed', runJobId: null });
    }
    startedOn.delete(job.id); // a job that failed or was cancelled opens nothing
  };

  return {
    client: null,
    page: pageFromHash(),
    theme: initialTheme(),
    app: null,
    workspace: null,
    workspaces: [],
    jobs: {},
    services: [],
    selectedService: null,
    sources: [],
    importJobId: null,
    uploadProgress: null,
    demoJobId: null,
    models: [],
    runs: [],
    selectedRunId: null,
    runJobId: null,
    detectionRuns: [],
    detectionJobId: null,
    detection: null,
    attributionRiskRun: null,
    replay: null,
    championId: null,
    retrainJobId: null,
    reportJobId: null,
    comparison: null,
    comparing: false,
    gates: [],
    presets: [],
    gateResult: null,
    gateError: null,
    error: null,

    async start(c) {
      set({ client: c });
      c.subscribe((event) => {
        const before = get().jobs[event.job.id];
        set({ jobs: { ...get().jobs, [event.job.id]: event.job } });
        const ended = event.job.finishedAt !== null && (!before || before.finishedAt === null);
        if (ended) void guard(() => onJobEnded(event.job));
      });
      window.addEventListener('hashchange', () => set({ page: pageFromHash() }));
      await guard(() => get().refresh());
    },
    navigate(page) {
      window.location.hash = `/${page}`;
      set({ page });
    },
    setTheme(theme) {
      localStorage.setItem('shadowbench.theme', theme);
      set({ theme });
    },
    dismissError: () => set({ error: null }),
    async refresh() {
      const c = client();
      const [app, workspaces] = await Promise.all([c.call('app.info', {}), c.call('workspace.list', {})]);
      set({ app, workspace: app.workspace, workspaces });
      if (app.workspace) {
        await loadWorkspaceData();
        await get().refreshModels();
      } else set({ services: [], sources: [], selectedService: null, models: [], runs: [], selectedRunId: null, detectionRuns: [], detection: null, attributionRiskRun: null, replay: null });
    },
    openDemo: () => guard(async () => {
      const from = get().page;
      // Marked before the call: its job's first event can come before the answer naming it, and the
      // tray must not show that job a moment beside Home's own bar (nor the button take a second click).
      set({ demoJobId: DEMO_STARTING });
      let jobId: string;
      try {
        ({ jobId } = await client().call('demo.open', {}));
      } catch (err) {
        set({ demoJobId: null });
        throw err;
      }
      startedOn.set(jobId, from);
      set({ demoJobId: jobId });
      // The job may have ended (an existing demo opens at once) before this call returned.
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null && get().demoJobId === jobId) await onJobEnded(job);
    }),
    // The workspace's name shows (and the pages unlock) before its data has loaded: a page chosen in
    // that moment is where the user wants to be, so the default page is taken only if none was.
    openWorkspace: (name) => guard(async () => {
      const from = get().page;
      await client().call('workspace.open', { name });
      await get().refresh();
      if (get().page === from) get().navigate('explore');
    }),
    createWorkspace: (name) => guard(async () => {
      const from = get().page;
      await client().call('workspace.create', { name });
      await get().refresh();
      if (get().page === from) get().navigate('data');
    }),
    closeWorkspace: () => guard(async () => {
      await client().call('workspace.close', {});
      await get().refresh();
      get().navigate('home');
    }),
    selectService: (name) => set({ selectedService: name }),
    importFile: (file, options) => guard(async () => {
      const c = client();
      if (!c.transport.upload) throw new Error('This window cannot upload files; use the Import button');
      set({ uploadProgress: 0, importJobId: null });
      try {
        const upload = await c.transport.upload(file, (f) => set({ uploadProgress: f }));
        const { jobId } = await c.call('import.start', { ...options, uploadId: upload.uploadId, fileName: upload.fileName });
        set({ importJobId: jobId });
        const job = await c.call('jobs.get', { jobId });
        if (job.finishedAt !== null) {
          set({ jobs: { ...get().jobs, [jobId]: job } });
          await onJobEnded(job);
        }
      } finally {
        set({ uploadProgress: null });
      }
    }),
    importUpload: (upload, options) => guard(async () => {
      const c = client();
      set({ importJobId: null });
      const { jobId } = await c.call('import.start', { ...options, dryRun: false, previewRows: 0, uploadId: upload.uploadId, fileName: upload.fileName });
      set({ importJobId: jobId });
      const job = await c.call('jobs.get', { jobId });
      if (job.finishedAt !== null) {
        set({ jobs: { ...get().jobs, [jobId]: job } });
        await onJobEnded(job);
      }
    }),
    async deleteSource(id) {
      const r = await client().call('sources.delete', { id });
      await get().refresh();
      return `Deleted import ${r.id} (${r.fileName}): ${r.rows.toLocaleString('en-US')} ${r.rows === 1 ? r.what.slice(0, -1) : r.what} removed. The file can be imported again.`;
    },
    cancelJob: (jobId) => guard(async () => {
      await client().call('jobs.cancel', { jobId });
    }),
    refreshModels: () => guard(async () => {
      const [models, runs, detectionRuns] = await Promise.all([client().call('models.list', {}), client().call('runs.list', {}), client().call('detection.runs', {})]);
      // The champion as the registry says, for every page (not only once Compare has loaded the gates).
      const championId = models.find((m) => m.task === 'change-risk' && m.role === 'champion')?.id ?? null;
      set({ models, runs, detectionRuns, championId });
    }),
    async trainModel(options) {
      try {
        const model = await client().call('models.train', options);
        await get().refreshModels();
        return model;
      } catch (err) {
        get().fail(err);
        return null;
      }
    },
    async addOnnx(file, manifest) {
      // Errors go back to the form, to be shown beside its button rather than in the page's banner.
      const c = client();
      if (!c.transport.upload) throw new Error('This window cannot upload files');
      const upload = await c.transport.upload(file, () => undefined);
      const model = await c.call('models.addOnnx', { uploadId: upload.uploadId, manifest: manifest as never });
      await get().refreshModels();
      return model;
    },
    retireModel: (id) => guard(async () => {
      await client().call('models.retire', { id });
      await get().refreshModels();
    }),
    startRun: (config) => guard(async () => {
      const from = get().page;
      const { jobId } = await client().call('runs.start', config);
      startedOn.set(jobId, from);
      set({ runJobId: jobId });
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null) await onJobEnded(job);
    }),
    openRun(id) {
      set({ selectedRunId: id });
      get().navigate('results');
    },
    startDetection: (config) => guard(async () => {
      const { jobId } = await client().call('detection.start', config);
      set({ detectionJobId: jobId });
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null) await onJobEnded(job);
    }),
    openDetection: (runId) => guard(async () => {
      const c = client();
      let rankedBy = get().attributionRiskRun;
      const [report, incidents, firstRanking] = await Promise.all([
        c.call('detection.report', { runId }), c.call('detection.incidents', { runId }),
        // Every active ranking model ranks beside the built-ins.
        c.call('attribution.evaluate', attributionInput()),
      ]);
      // A ranking chosen while these loaded would be overwritten by the one asked for before it:
      // ranked again by the choice that stands.
      let attribution = firstRanking;
      while (get().attributionRiskRun !== rankedBy) {
        rankedBy = get().attributionRiskRun;
        attribution = await c.call('attribution.evaluate', attributionInput());
      }
      // The replay stays open when the same run is (re)loaded, e.g. by a page effect racing a job's end.
      set({ detection: { runId, report, incidents, attribution }, replay: get().detection?.runId === runId ? get().replay : null });
    }),
    loadGates: () => guard(async () => {
      const c = client();
      const [gates, presets, roles] = await Promise.all([c.call('gates.list', {}), c.call('gates.presets', {}), c.call('roles.get', {})]);
      set({ gates, presets, championId: roles.changeRisk });
    }),
    setChampion: (modelId, reason) => guard(async () => {
      const { championId } = await client().call('roles.setChampion', { modelId, ...(reason ? { reason } : {}) });
      set({ championId });
      await get().refreshModels();
    }),
    compare: (runId, championId, challengerId) => guard(async () => {
      set({ comparing: true });
      try {
        set({ comparison: await client().call('compare.run', { runId, championId, challengerId }) });
      } finally {
        set({ comparing: false });
      }
    }),
    async checkGate(runId, modelId, specText, championId) {
      // The editor's live verdict: a spec that does not parse says why instead of a verdict.
      let spec: unknown;
      try {
        spec = JSON.parse(specText);
      } catch (err) {
        set({ gateError: `Not valid JSON: ${(err as Error).message}`, gateResult: null });
        return;
      }
      // One check at a time: while one is being computed, only the latest edit waits to be checked
      // (on a big run a check takes seconds, and each pause in typing used to queue another).
      const ask = { runId, modelId, spec, ...(championId !== undefined ? { championId } : {}), preview: true };
      if (gateCheck.running) {
        gateCheck.next = ask;
        return;
      }
      gateCheck.running = true;
      let current: typeof ask | null = ask;
      while (current) {
        gateCheck.next = null;
        try {
          // The scorecard's own resamples (1000, seeded), so the gate quotes the intervals Results shows.
          const result = await client().call('gates.check', current);
          if (!gateCheck.next) set({ gateResult: result, gateError: null });
        } catch (err) {
          if (!gateCheck.next) set({ gateError: messageOf(err), gateResult: null });
        }
        current = gateCheck.next;
      }
      gateCheck.running = false;
    },
    async saveGate(specText) {
      try {
        const saved = await client().call('gates.save', { spec: JSON.parse(specText) as unknown });
        set({ gates: await client().call('gates.list', {}) });
        return saved;
      } catch (err) {
        get().fail(err);
        return null;
      }
    },
    exportDetectionReport: (runId, format, specText) => guard(async () => {
      let gate: unknown;
      try {
        gate = specText === null ? undefined : JSON.parse(specText);
      } catch (err) {
        throw new Error(`The gate in the editor is not valid JSON (${(err as Error).message}); the report judges by it, so fix it first`);
      }
      const { jobId } = await client().call('reports.startDetection', { runId, format, ...(gate !== undefined ? { gate } : {}) });
      set({ reportJobId: jobId });
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null && get().reportJobId === jobId) await onJobEnded(job);
    }),
    exportReport: (runId, format, view) => guard(async () => {
      let gate: unknown;
      try {
        gate = JSON.parse(view.specText);
      } catch (err) {
        throw new Error(`The gate in the editor is not valid JSON (${(err as Error).message}); the report judges by it, so fix it first`);
      }
      // Built by the engine as a job, the same file the CLI writes; downloaded when the job ends.
      const { jobId } = await client().call('reports.start', { runId, format, championId: view.championId, gate });
      set({ reportJobId: jobId });
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null && get().reportJobId === jobId) await onJobEnded(job);
    }),
    retrain: (modelId, useFeedback) => guard(async () => {
      const from = get().page;
      const { jobId } = await client().call('models.retrain', { modelId, useFeedback });
      startedOn.set(jobId, from);
      set({ retrainJobId: jobId });
      const job = await client().call('jobs.get', { jobId });
      if (job.finishedAt !== null) await onJobEnded(job);
    }),
    revertChampion: () => guard(async () => {
      const { championId } = await client().call('roles.revert', {});
      set({ championId });
      await get().refreshModels();
    }),
    exportDataset: () => guard(async () => {
      const { csv } = await client().call('datasets.export', {});
      download({ fileName: 'shadowbench-dataset.csv', content: csv });
    }),
    rankAttribution: (riskRunId) => guard(async () => {
      // Kept in the store: a reload of the results (a job's end racing the page's own load) ranks
      // by the same run instead of quietly dropping it while the menu still shows it.
      set({ attributionRiskRun: riskRunId });
      const attribution = await client().call('attribution.evaluate', attributionInput());
      const d = get().detection;
      if (d && get().attributionRiskRun === riskRunId) set({ detection: { ...d, attribution } });
    }),
    openReplay: (incident, cursor) => guard(async () => {
      const d = get().detection;
      if (!incident || !d) {
        set({ replay: null });
        return;
      }
      set({ replay: await client().call('detection.replay', { runId: d.runId, incident, ...(cursor !== undefined ? { cursor } : {}) }) });
    }),
    fail(err) {
      set({ error: messageOf(err) });
    },
  };
});

export function importReportOf(job: JobStatus | undefined): ImportReport | null {
  return job?.state === 'done' ? (job.result as ImportReport) : null;
}
