// The JSON schema of a data-plane config file (YAML). Checked with ajv; the
// references between sections (ports, nfs, chains) are checked in config.ts.

/** How long a worker may make no progress before the watchdog restarts it. */
export const DEFAULT_WATCHDOG_MS = 200;
export const DEFAULT_MBUFS = 8191;
/** The poll lcore's longest nap once idle (adaptive polling; 0: busy polling). */
export const DEFAULT_NAP_US = 600;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cores', 'ports', 'nfs', 'chains'],
  properties: {
    cores: {
      type: 'object',
      additionalProperties: false,
      required: ['poll', 'workers'],
      properties: {
        poll: { type: 'integer', minimum: 0 },
        workers: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
        nap_us: { type: 'integer', minimum: 0, maximum: 100000 },
      },
    },
    ports: {
      type: 'object',
      minProperties: 1,
      additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9_:.-]+(,[^\\s]*)?$' },
    },
    nfs: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['module'],
        properties: {
          module: { type: 'string', minLength: 1 },
          config: {},
          config_file: { type: 'string', minLength: 1 },
          trust: { enum: ['shared', 'isolated', 'vm'] },
          via: { enum: ['ivshmem', 'vhost-user'] },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: {
              heap_mb: { type: 'integer', minimum: 1, maximum: 3840 },
              batch_ms: { type: 'integer', minimum: 10, maximum: 60000 },
            },
          },
        },
      },
    },
    chains: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'through', 'to'],
        properties: {
          name: { type: 'string', minLength: 1 },
          from: { type: 'string' },
          through: { type: 'array', items: { type: 'string' } },
          to: { type: 'string' },
          fail: { enum: ['closed', 'open'] },
          workers: { type: 'integer', minimum: 1, maximum: 16 },
        },
      },
    },
    pool: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mbufs: { type: 'integer', minimum: 1023, maximum: 65535 },
        hugepages: { enum: ['auto', 'on', 'off'] },
      },
    },
    eal: { type: 'array', items: { type: 'string' } },
    watchdog_ms: { type: 'integer', minimum: 10, maximum: 60000 },
  },
} as const;
