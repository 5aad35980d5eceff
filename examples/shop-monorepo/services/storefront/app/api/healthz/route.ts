import { NextResponse } from 'next/server';

export const dynamic = 'force-dynamic';

// Liveness/readiness for Kubernetes: the Node process answers; backends are not checked here.
export function GET() {
  return NextResponse.json({ status: 'ok' });
}
