import { redis } from './redis';

export interface CartLine {
  sku: string;
  quantity: number;
}

const CART_TTL_SECONDS = 7 * 24 * 3600;
const key = (cartId: string) => `cart:${cartId}`;

export async function readCart(cartId: string): Promise<CartLine[]> {
  const lines = await redis().hgetall(key(cartId));
  return Object.entries(lines).map(([sku, quantity]) => ({ sku, quantity: Number(quantity) }));
}

export async function addToCart(cartId: string, sku: string, quantity: number): Promise<CartLine[]> {
  await redis().multi().hincrby(key(cartId), sku, quantity).expire(key(cartId), CART_TTL_SECONDS).exec();
  return readCart(cartId);
}
