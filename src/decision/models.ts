import { ANNOTATIONS } from '../vocabulary/keys.js';
import type { Keyring } from '../keys/types.js';
import { parseManifests } from '../manifest/parse.js';
import type { Manifest, Problem, VerifiedModel } from '../manifest/types.js';
import { verifyManifest, type VerifyOptions } from '../manifest/verify.js';
import type { ResolvedManifest, Workload } from '../workload/types.js';
import { omsVerdicts, type OmsVerdicts } from '../oms/verdicts.js';

export interface ModelFindings {
  models: VerifiedModel[];
  problems: Problem[];
  /** Accepted with a caveat (e.g. v1 binds only the hash), one line each, naming the model. */
  warnings: string[];
}

/**
 * Signature checks per admission are bounded: public-key verification costs up to ~1-2 ms each
 * (ECDSA P-521; bench/signatures.ts), and a ConfigMap volume can carry thousands of
 * manifests naming a loaded key (key ids are not secret). 64 models is generous for one workload
 * (a multi-model server); beyond it the workload is refused, not partly checked.
 */
export const MAX_MANIFESTS_PER_WORKLOAD = 64;

/**
 * Turns the workload's references into verified models. Annotation manifests are read here;
 * ConfigMap and volume references must have been resolved by the shell (`resolved`): one
 * that was not is a problem, never a silent pass.
 */
export function verifyWorkloadModels(
  workload: Workload,
  resolved: readonly ResolvedManifest[],
  keyring: Keyring,
  oms?: VerifyOptions['oms'],
): ModelFindings {
  const trust: Trust = oms === undefined ? { keyring } : { keyring, oms };
  // A text already verified (same bytes, same authorities, still valid now) is not parsed again.
  const verdicts = omsVerdicts(oms);
  if (verdicts) trust.verdicts = verdicts;
  const findings: ModelFindings = { models: [], problems: [], warnings: [] };
  let count = 0;
  for (const source of manifestTexts(workload, resolved, findings.problems)) {
    const n = verifySource(source, trust, findings, count);
    if (n === undefined) break;
    count = n;
  }
  if (findings.models.length === 0 && findings.problems.length === 0)
    findings.problems.push({ ...MISSING_MANIFEST });
  return findings;
}

/** Verify one text's manifests; the running count of manifests, or undefined past the limit. */
function verifySource(source: ManifestText, trust: Trust, findings: ModelFindings, count: number): number | undefined {
  const hit = trust.verdicts?.lookup(source.text, source.origin);
  if (hit) {
    if (count + 1 > MAX_MANIFESTS_PER_WORKLOAD) return overLimit(source, findings);
    findings.models.push({ ...hit, path: source.path });
    return count + 1;
  }
  const parsed = parseManifests(source.text, source.origin);
  if (!parsed.ok) {
    findings.problems.push({ ...parsed.problem, path: source.path, origin: parsed.problem.path });
    return count;
  }
  const total = count + parsed.value.length;
  if (total > MAX_MANIFESTS_PER_WORKLOAD) return overLimit(source, findings);
  for (const manifest of parsed.value) {
    const model = verifyOne(manifest, source, trust, findings);
    if (model) trust.verdicts?.remember(source.text, parsed.value, model);
  }
  return total;
}

function overLimit(source: ManifestText, findings: ModelFindings): undefined {
  findings.problems.push(tooManyManifests(source));
  return undefined;
}

function tooManyManifests(source: ManifestText): Problem {
  return {
    code: 'too-many-manifests',
    path: source.path,
    origin: source.origin,
    message: `the workload declares more than ${MAX_MANIFESTS_PER_WORKLOAD} model manifests (reached at ${source.origin}); at most ${MAX_MANIFESTS_PER_WORKLOAD} are verified per workload: split it`,
  };
}

/** The model's name for messages before verification (an OMS bundle's name is in its signed payload). */
function manifestName(manifest: Manifest): string {
  if (manifest.format === 'v1') return manifest.body.model_path;
  if (manifest.format === 'v2') return `${manifest.body.model.name}@${manifest.body.model.version}`;
  return `(OMS bundle, ${manifest.body.method} method)`;
}

function verifyOne(
  manifest: Manifest,
  source: ManifestText,
  trust: Trust,
  findings: ModelFindings,
): VerifiedModel | undefined {
  // Which keys a rule trusts, and which are revoked, is policy (checkKeys: key-not-trusted,
  // key-revoked, naming the rule and the fix); here only whether a loaded key signed it.
  const opts: VerifyOptions = { origin: source.origin };
  if (trust.oms !== undefined) opts.oms = trust.oms;
  const verified = verifyManifest(manifest, trust.keyring, opts);
  const name = manifestName(manifest);
  if (!verified.ok) {
    const { problem } = verified;
    findings.problems.push({
      ...problem,
      path: source.path,
      origin: problem.path || source.origin,
      message: `model ${name}: ${problem.message}`,
    });
    return undefined;
  }
  findings.models.push({ ...verified.value, path: source.path });
  for (const w of verified.value.warnings ?? [])
    findings.warnings.push(`modelgate: model ${name}: ${w.message}`);
  return verified.value;
}

/** What signatures are checked against: the keyring (v1, v2) and the policy's OMS authorities. */
interface Trust {
  keyring: Keyring;
  oms?: VerifyOptions['oms'];
  verdicts?: OmsVerdicts;
}

interface ManifestText {
  origin: string;
  path: string;
  text: string;
}

function manifestTexts(
  workload: Workload,
  resolved: readonly ResolvedManifest[],
  problems: Problem[],
): ManifestText[] {
  const texts: ManifestText[] = [];
  for (const ref of workload.refs) {
    if (ref.source === 'annotation') {
      texts.push({
        origin: `annotation ${ref.path.replace(/^metadata\.annotations\[(.*)\]$/, '$1')}`,
        path: ref.path,
        text: ref.text,
      });
    } else if (ref.source === 'invalid') {
      problems.push({ code: 'invalid-reference', path: ref.path, message: `${ref.path} ${ref.message}` });
    } else {
      collectResolved(ref.path, resolved, texts, problems);
    }
  }
  return texts;
}

function collectResolved(
  path: string,
  resolved: readonly ResolvedManifest[],
  texts: ManifestText[],
  problems: Problem[],
): void {
  const found = resolved.filter((r) => r.path === path);
  if (found.length === 0) {
    problems.push({
      code: 'unresolved-reference',
      path,
      message: `the manifests referenced at ${path} could not be read (no cluster access); deploy through the API server or inline the manifest`,
    });
  }
  for (const r of found) {
    if ('text' in r) texts.push({ origin: r.origin, path: r.path, text: r.text });
    else problems.push({ code: r.error.code, path: r.path, origin: r.origin, message: r.error.message });
  }
}

/** The deny message already names the object ("modelgate: Deployment ml/x denied: ..."). */
const MISSING_MANIFEST: Problem = {
  code: 'missing-manifest',
  path: 'metadata.annotations',
  message:
    'this inference workload declares no model manifest; sign the model with `modelgate sign` and add the ' +
    `${ANNOTATIONS.manifest} annotation (or manifest-configmap / manifest-volume)`,
};
