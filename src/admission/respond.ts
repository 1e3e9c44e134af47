import type { AdmissionResponse, AdmissionReview } from './types.js';

/** Pure builders: completing a response always copies the request uid. */

export function allowed(uid: string, warnings: string[] = []): AdmissionResponse {
  return warnings.length > 0 ? { uid, allowed: true, warnings } : { uid, allowed: true };
}

export function denied(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
}

export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

export function reviewResponse(response: AdmissionResponse): AdmissionReview<AdmissionResponse> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
