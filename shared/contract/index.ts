export * from './methods.js';
export * from './records.js';
export * from './result.js';
export * from './models.js';
