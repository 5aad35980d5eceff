import { listProducts, type StockView } from '@/lib/inventory';

// Stock changes all the time: render per request (with a 30 s fetch cache), never at build time.
export const dynamic = 'force-dynamic';

export default async function HomePage() {
  let products: StockView[] = [];
  let unavailable = false;
  try {
    products = await listProducts();
  } catch {
    unavailable = true;
  }

  return (
    <main>
      <h1>Acme Shop</h1>
      {unavailable && <p role="alert">The catalogue is unavailable right now. Please try again shortly.</p>}
      <ul style={{ listStyle: 'none', padding: 0, display: 'grid', gap: 12 }}>
        {products.map((p) => (
          <li key={p.sku} style={{ border: '1px solid #ddd', borderRadius: 8, padding: 12 }}>
            <strong>{p.name}</strong> <small>({p.sku})</small>
            <div>{p.available > 0 ? `${p.available} in stock` : 'Sold out'}</div>
          </li>
        ))}
      </ul>
    </main>
  );
}
