// netvm run's exit status (README): 0 when everything is accounted for, 1 when
// the data plane lost a packet or an mbuf. Nothing here can make a real run
// lose one (it would be a bug), so the rule is checked on summaries.
import t from 'tap';
import { runExitStatus } from '../host/observe/stats.js';

t.test('exit status: 1 for a lost packet, a refused descriptor or an mbuf not back in the pool', async (t) => {
  const clean = { unaccounted: 0, badDescriptors: 0, pool: { mbufs: 8191, available: 8191 } };
  t.equal(runExitStatus(clean), 0, 'all accounted for: 0');
  t.equal(runExitStatus({ ...clean, unaccounted: 1 }), 1, 'a packet unaccounted for: 1');
  t.equal(runExitStatus({ ...clean, unaccounted: -1 }), 1, 'a packet counted twice: 1');
  t.equal(runExitStatus({ ...clean, badDescriptors: 1 }), 1, 'a refused descriptor: 1');
  t.equal(runExitStatus({ ...clean, pool: { mbufs: 8191, available: 8190 } }), 1, 'an mbuf not back: 1');
});
