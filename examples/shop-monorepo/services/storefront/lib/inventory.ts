export interface StockView {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  available: number;
  updatedAt: string;
}

const baseUrl = () => process.env.INVENTORY_URL ?? 'http://localhost:8081';

export async function listProducts(size = 24): Promise<StockView[]> {
  const res = await fetch(`${baseUrl()}/api/inventory?size=${size}`, {
    next: { revalidate: 30 },
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`inventory answered ${res.status}`);
  const page = (await res.json()) as { content: StockView[] };
  return page.content;
}

export async function getProduct(sku: string): Promise<StockView | undefined> {
  const res = await fetch(`${baseUrl()}/api/inventory/${encodeURIComponent(sku)}`, {
    cache: 'no-store',
    signal: AbortSignal.timeout(2000),
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`inventory answered ${res.status}`);
  return (await res.json()) as StockView;
}
