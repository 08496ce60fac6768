import * as m001 from './001-initial.js';
import * as m002 from './002-rollups.js';
import * as m003 from './003-models-runs.js';
import * as m004 from './004-prediction-logs.js';
import * as m005 from './005-detection.js';
import * as m006 from './006-detector-logs.js';
import * as m007 from './007-gates.js';
import * as m008 from './008-audit.js';
import * as m009 from './009-feedback.js';
import * as m010 from './010-model-events.js';
import * as m011 from './011-drills.js';
import * as m012 from './012-detection-drills.js';
import * as m013 from './013-run-owners.js';

/** Numbered migrations, applied in order, one transaction each. `PRAGMA user_version` = last applied. */
export const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  { version: 1, name: 'initial', sql: m001.sql },
  { version: 2, name: 'rollups', sql: m002.sql },
  { version: 3, name: 'models and runs', sql: m003.sql },
  { version: 4, name: 'prediction logs', sql: m004.sql },
  { version: 5, name: 'detection runs', sql: m005.sql },
  { version: 6, name: 'detector logs', sql: m006.sql },
  { version: 7, name: 'gates', sql: m007.sql },
  { version: 8, name: 'audit log', sql: m008.sql },
  { version: 9, name: 'feedback', sql: m009.sql },
  { version: 10, name: 'model events', sql: m010.sql },
  { version: 11, name: 'drills', sql: m011.sql },
  { version: 12, name: 'detection drills', sql: m012.sql },
  { version: 13, name: 'run owners', sql: m013.sql },
];

export const LATEST_VERSION = migrations[migrations.length - 1]!.version;
