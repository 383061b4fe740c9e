#include <stdio.h>
int main(void)
{
    puts("vnetsim: not yet");
    return 0;
}
