import { randomUUID } from 'node:crypto';
import { cookies } from 'next/headers';
import { NextResponse, type NextRequest } from 'next/server';
import { addToCart, readCart } from '@/lib/cart';
import { getProduct } from '@/lib/inventory';

const COOKIE = 'cart_id';

export async function GET() {
  const cartId = cookies().get(COOKIE)?.value;
  if (!cartId) return NextResponse.json({ lines: [] });
  return NextResponse.json({ lines: await readCart(cartId) });
}

export async function POST(request: NextRequest) {
  const body = (await request.json().catch(() => null)) as { sku?: unknown; quantity?: unknown } | null;
  const sku = typeof body?.sku === 'string' ? body.sku : undefined;
  const quantity = typeof body?.quantity === 'number' ? body.quantity : 1;
  if (!sku || !Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
    return NextResponse.json({ error: 'expected {"sku": string, "quantity": 1..100}' }, { status: 400 });
  }

  const product = await getProduct(sku);
  if (!product) return NextResponse.json({ error: `unknown sku ${sku}` }, { status: 404 });
  if (product.available < quantity) {
    return NextResponse.json({ error: 'not enough stock', available: product.available }, { status: 409 });
  }

  const cartId = cookies().get(COOKIE)?.value ?? randomUUID();
  const response = NextResponse.json({ lines: await addToCart(cartId, sku, quantity) }, { status: 201 });
  response.cookies.set(COOKIE, cartId, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 7 * 24 * 3600 });
  return response;
}
